"""One module per adaptation method, each defining ``METHOD`` (found by :func:`genadapt.families.adapt.get_method`)."""
