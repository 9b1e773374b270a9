"""Model adapters, one file per kind; see registry.py for the kind -> class map."""
