"""Pure domain model of AutoForge Nexus: no Ray, no I/O."""
