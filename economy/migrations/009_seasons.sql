-- Seasonal events (season.go): tokens earned by playing during an event,
-- the event-only collectibles found, and the end-of-event payout.
--
-- The payout is exactly once by construction: event_closings gets its row
-- in the same SERIALIZABLE transaction that writes one event_payouts row
-- per winner (primary key (event, user)), from the board as it stood; each
-- winner is then paid in a transaction of its own that marks the row paid
-- and posts the ledger legs together, under the operation ID
-- event_reward:<event>:<user>. A node that dies midway leaves rows unpaid,
-- which the next node (under the advisory lock) pays; none is paid twice.

CREATE TABLE economy.event_players (
    event_key  text NOT NULL,
    user_id    bigint NOT NULL CHECK (user_id > 0),
    tokens     bigint NOT NULL DEFAULT 0 CHECK (tokens >= 0),  -- to spend in the event shop
    earned     bigint NOT NULL DEFAULT 0 CHECK (earned >= 0),  -- all earned: the board's score
    reached_at timestamptz NOT NULL,                            -- when earned last grew (ties)
    PRIMARY KEY (event_key, user_id)
);
CREATE INDEX event_players_board ON economy.event_players (event_key, earned DESC, reached_at, user_id);

CREATE TABLE economy.event_finds (
    event_key      text NOT NULL,
    user_id        bigint NOT NULL CHECK (user_id > 0),
    item_key       text NOT NULL,
    found          integer NOT NULL CHECK (found > 0),
    first_found_at timestamptz NOT NULL,
    PRIMARY KEY (event_key, user_id, item_key)
);

CREATE TABLE economy.event_closings (
    event_key  text PRIMARY KEY,
    planned_at timestamptz NOT NULL,      -- the board was frozen into event_payouts
    winners    integer NOT NULL,
    worker     text NOT NULL,             -- the node paying (or that paid) it
    closed_at  timestamptz                -- every payout paid
);

CREATE TABLE economy.event_payouts (
    event_key text NOT NULL REFERENCES economy.event_closings (event_key),
    user_id   bigint NOT NULL CHECK (user_id > 0),
    rank      integer NOT NULL,
    earned    bigint NOT NULL,
    credits   bigint NOT NULL CHECK (credits >= 0),
    items     text[] NOT NULL DEFAULT '{}',
    paid_at   timestamptz,
    PRIMARY KEY (event_key, user_id)
);
CREATE INDEX event_payouts_unpaid ON economy.event_payouts (event_key, rank) WHERE paid_at IS NULL;
