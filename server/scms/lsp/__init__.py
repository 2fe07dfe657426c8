"""The pygls language server: hover cards, code actions and the scms.* commands over the memory facade."""
