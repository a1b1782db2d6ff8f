"""On-premise speech: audio conversion, streaming recognition, synthesis, the assistant peer.

Imports nothing from `telehealth`; what it needs from the application comes in as
parameters or small Protocols.
"""
