"""The carbon wall screen (Dash) for the operations centre; built in issue 5."""
