"""The mock Live server: TLS websockets on loopback, a demo backend, replay of recordings and fault injection."""
