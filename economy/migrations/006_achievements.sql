-- Achievements: one row per (user, achievement), written with its reward
-- in one transaction, so each is awarded exactly once. Backfills are
-- recorded per catalogue version so that each runs once.

CREATE TABLE economy.achievements (
    user_id   bigint NOT NULL CHECK (user_id > 0),
    key       text NOT NULL,
    earned_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE economy.achievement_backfills (
    version integer PRIMARY KEY,
    done_at timestamptz NOT NULL DEFAULT now()
);

-- Progress counts a user's shifts and other operations by kind.
CREATE INDEX transactions_by_user_kind ON economy.transactions (user_id, kind);
CREATE INDEX market_sales_by_seller ON economy.market_sales (seller_id);
CREATE INDEX market_sales_by_buyer ON economy.market_sales (buyer_id);
CREATE INDEX trades_done_a ON economy.trades (a_id) WHERE state = 'done';
CREATE INDEX trades_done_b ON economy.trades (b_id) WHERE state = 'done';
