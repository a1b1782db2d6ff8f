"""Pure ASGI middleware guarding every HTTP response and request.

Pure ASGI (not Starlette's BaseHTTPMiddleware) so streaming responses and websockets pass
through untouched; each guard acts on `http` scopes only.
"""
