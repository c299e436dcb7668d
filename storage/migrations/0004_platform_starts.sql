-- When each platform connection was started, so a crash loop can back off before it logs in
-- again (Discord resets a token after 1000 IDENTIFYs in a day).
CREATE TABLE platform_starts (
    platform  TEXT NOT NULL,
    at        REAL NOT NULL
);
CREATE INDEX platform_starts_at ON platform_starts(platform, at);
