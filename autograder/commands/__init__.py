"""One module per ``bpgrade`` sub-command."""
