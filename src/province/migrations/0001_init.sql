-- layso province schema, version 1. Applied by the collector at start (db.rs).
-- Days are local business days as text 'YYYY-MM-DD'; times are ms since the Unix epoch.

CREATE TABLE events (
    site        text   NOT NULL,
    seq         bigint NOT NULL,
    at          bigint NOT NULL,
    day         text   NOT NULL,
    kind        text   NOT NULL,
    clock_ok    boolean NOT NULL,
    body        text   NOT NULL,   -- the entry's JSON as the site sent it
    received_at bigint NOT NULL,
    PRIMARY KEY (site, seq)
);
CREATE INDEX events_site_day ON events (site, day);

CREATE TABLE sites (
    site        text PRIMARY KEY,
    province    text   NOT NULL DEFAULT '',
    name        text   NOT NULL DEFAULT '',
    online      boolean NOT NULL DEFAULT false,
    status_at   bigint,
    last_heard  bigint,
    max_seq     bigint NOT NULL DEFAULT 0,
    contiguous  bigint NOT NULL DEFAULT 0, -- every seq <= contiguous is here (or never existed)
    metrics     text,                      -- the latest metrics message
    metrics_at  bigint
);

CREATE TABLE status_history (
    site   text    NOT NULL,
    at     bigint  NOT NULL,
    online boolean NOT NULL,
    reason text,
    PRIMARY KEY (site, at, online)
);

-- Figures per site and business day, computed from events (figures.rs).
CREATE TABLE site_day (
    site               text   NOT NULL,
    day                text   NOT NULL,
    issued             integer NOT NULL,
    served             integer NOT NULL,
    skipped            integer NOT NULL,
    transferred        integer NOT NULL,
    waits_ms           bigint[] NOT NULL,
    service_ms         bigint[] NOT NULL,
    wait_p50_ms        bigint,
    wait_p90_ms        bigint,
    per_service        text   NOT NULL,  -- JSON
    per_counter        text   NOT NULL,  -- JSON
    open_ms            bigint NOT NULL,
    up_ms              bigint NOT NULL,
    connected_ms       bigint NOT NULL,
    power_dips         integer NOT NULL,
    power_dip_ms       bigint NOT NULL,
    uplink_dips        integer NOT NULL,
    uplink_dip_ms      bigint NOT NULL,
    printer_trouble_ms bigint NOT NULL,
    clock_unsync_share double precision NOT NULL,
    outages            text   NOT NULL,  -- JSON list
    computed_at        bigint NOT NULL,
    PRIMARY KEY (site, day)
);
CREATE INDEX site_day_day ON site_day (day);

-- (site, day) pairs whose figures must be computed again.
CREATE TABLE dirty_days (
    site text NOT NULL,
    day  text NOT NULL,
    PRIMARY KEY (site, day)
);
