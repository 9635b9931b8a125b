"""The rule engine: loads the catalogue (data in rules/), evaluates it against facts, ranks what it finds."""
