"""Evidence on an incident: files checked and made safe (`files`), and where they are kept (`storage`)."""
