"""Documents and records: the file plan, cases and the registry, content storage, intake and the
access log. Other domains register their generated PDFs through `services.register_outgoing`."""
