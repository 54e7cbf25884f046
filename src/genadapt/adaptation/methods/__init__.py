"""One module per adaptation method, each defining ``METHOD`` (found by :func:`genadapt.adaptation.get_method`)."""
