"""The published language: the inbound complaint (complaint), the ticket
vocabulary (vocabulary), the events tickets and the router publish (events),
the errors a remote call can answer with (errors), and ticket references
(reference). Every service imports these; none re-declares them."""
