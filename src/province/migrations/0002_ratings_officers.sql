-- layso province schema, version 2: citizens' ratings and per-officer figures per
-- site-day (figures/people.rs), computed from the `rated` entries and the officer named
-- on called/served/skipped entries, with the board's daily report's definitions.

ALTER TABLE site_day
    ADD COLUMN rated_very_satisfied integer NOT NULL DEFAULT 0,
    ADD COLUMN rated_satisfied      integer NOT NULL DEFAULT 0,
    ADD COLUMN rated_unsatisfied    integer NOT NULL DEFAULT 0,
    ADD COLUMN rating_reasons       text    NOT NULL DEFAULT '{}', -- JSON {code: count}
    ADD COLUMN officers             text    NOT NULL DEFAULT '{}'; -- JSON {officer id: work}

-- Days computed by version 1 have no ratings or officers yet: compute them again (the
-- figures worker takes them a few hundred at a time, newest first).
INSERT INTO dirty_days (site, day) SELECT site, day FROM site_day ON CONFLICT DO NOTHING;
