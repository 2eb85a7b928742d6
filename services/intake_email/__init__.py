"""The email intake: IMAP mailboxes in, ComplaintReceived out (issue 4)."""
