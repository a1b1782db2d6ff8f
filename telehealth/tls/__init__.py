"""TLS for `telehealth serve`: checking the configured certificate and key
(`files.py`), and a local CA with certificates for trying the service on a LAN
(`dev_cert.py`). Imports nothing of the application, so settings may use it."""
