"""Media I/O: microphone, speaker, levels, screen share, camera and frames from files. No Textual."""
