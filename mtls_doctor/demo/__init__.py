"""`mtls-doctor demo`: the seed case played on 127.0.0.1: a real nginx when one is installed (else the server twin
serving on a socket, said so on screen), the failing request, the diagnosis, the fix, the passing request.

servers.py starts and stops the server (every step under a deadline, nothing left running); play.py tells the story.
"""
