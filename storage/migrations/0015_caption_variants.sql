-- A post revision's caption rewritten for one network it did not fit (bluesky, mastodon, x),
-- written when the draft is made so the approver sees what each network will get; a network
-- with no row gets the caption itself.
CREATE TABLE caption_variants (
    post_id      INTEGER NOT NULL REFERENCES posts(id),
    rev          INTEGER NOT NULL,
    destination  TEXT NOT NULL,          -- the kind: bluesky, mastodon, x
    text         TEXT NOT NULL,
    created_at   REAL NOT NULL,
    PRIMARY KEY (post_id, rev, destination)
);
