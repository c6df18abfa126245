"""The Salesforce layer: field contract, client, Bulk API 2.0, extraction, emulator."""
