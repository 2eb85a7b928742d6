"""What the channels share: Twilio ids, webhook signatures and REST client,
and the mail identity (Message-ID domain). The channel registry lists every
channel's identity kind and sender."""
