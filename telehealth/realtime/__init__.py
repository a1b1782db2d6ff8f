"""Real-time rooms: the signaling hub wired to storage, and the websocket endpoint."""
