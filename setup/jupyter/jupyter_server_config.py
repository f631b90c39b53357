"""Jupyter Server settings for the course VPS.

05_jupyter.sh installs this file as ~/.jupyter/jupyter_server_config.py; JupyterLab reads it at
every start. The server only listens on 127.0.0.1 (the server's own loopback): from your laptop
you reach it through the SSH tunnel of setup/tunnel.sh, which encrypts the traffic and lets in
only people who can log in over SSH. Nothing about Jupyter is exposed to the internet.
"""

from pathlib import Path

c = get_config()  # noqa: F821 -- Jupyter provides get_config() when it loads this file

# Loopback only. Never "0.0.0.0": that publishes a "run any code" service over plain HTTP,
# protected by nothing but the token, to every scanner on the internet.
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = 8888
# If 8888 is taken (often by an older Jupyter still running), stop with an error instead of
# quietly moving to 8889, where the tunnel would not find it.
c.ServerApp.port_retries = 0
# A server has no browser to open.
c.ServerApp.open_browser = False

# A fixed token, read from a private file next to this one (05_jupyter.sh creates it), so the
# address you bookmark keeps working after a restart. Without it Jupyter invents a new token
# at every start and prints it only in its log.
c.IdentityProvider.token = (Path(__file__).parent / "course_token").read_text().strip()
