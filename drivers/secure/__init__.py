"""Secure credentials: cards that prove a key (MIFARE DESFire EV2/EV3, NTAG 424 DNA).

``read_secure`` (in ``session``) is the one entry point a reader driver calls; the
rest is the NXP cryptography it rests on (AN10922 key diversification, AN12196 /
AN12343 EV2 authentication and secure messaging, SUN messages) and a software card
that speaks the same APDUs, for tests and the office's desk provisioning.
"""
