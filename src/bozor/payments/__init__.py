"""Payment providers: clients for the gateways Bozor takes money through, and fakes of them.

`portmone` is the client of Portmone's JSON gateway (payment links, the authoritative `result`
call, refunds, notification parsing); `fake_portmone` is a real HTTP server that speaks the same
formats, for tests and the demo. The shop decides what a payment means; this package only talks
to the gateway. See docs/payments.md.
"""
