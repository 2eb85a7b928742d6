"""What the channels share: Twilio ids, webhook signatures and REST client,
the mail identity (Message-ID domain) and the SMTP sender (smtp_out.py). The
channel registry lists every channel's identity kind and sender."""
