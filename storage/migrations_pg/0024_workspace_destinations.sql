-- A workspace's own publishing destinations: for a persona, the network account its approved
-- posts go to from this workspace, one per network. `options_json` holds what the personas file
-- would (a handle, an instance URL); `secrets_sealed` the credentials as JSON, sealed with
-- SECRETS_KEY (storage/sealing.py): the row never holds a credential in the clear. A persona
-- with destinations here publishes to these in the workspace instead of the file's.
CREATE TABLE workspace_destinations (
    workspace       TEXT NOT NULL,
    persona         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    options_json    TEXT NOT NULL,
    secrets_sealed  TEXT NOT NULL,
    updated_by      TEXT NOT NULL,
    updated_at      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (workspace, persona, kind)
);
