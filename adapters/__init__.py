"""How GPMS reaches each external system: a Protocol per system, spoken over the HQ hub."""
