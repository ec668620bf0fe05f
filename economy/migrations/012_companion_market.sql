-- Companions on the market. A listed companion leaves its owner for the
-- market's escrow owner (-3, as for items) with its row and id kept, so
-- every owner-keyed path (train, battle, breed, release, stasis, trade,
-- the cap) no longer finds it; the listing names it in companion_id. Names
-- are unique per real owner only: a companion coming back from escrow (or
-- over a trade) is renamed when its new owner already uses the name.

ALTER TABLE economy.companions DROP CONSTRAINT companions_owner_id_check;
ALTER TABLE economy.companions ADD CONSTRAINT companions_owner_id_check CHECK (owner_id > 0 OR owner_id = -3);
DROP INDEX economy.companions_owner_name;
CREATE UNIQUE INDEX companions_owner_name ON economy.companions (owner_id, lower(name)) WHERE owner_id > 0;

ALTER TABLE economy.market_listings DROP CONSTRAINT market_listings_kind_check;
ALTER TABLE economy.market_listings ADD CONSTRAINT market_listings_kind_check CHECK (kind IN ('item', 'companion'));
ALTER TABLE economy.market_listings ADD COLUMN companion_id bigint;
-- A companion listing holds exactly one companion; an item listing none.
ALTER TABLE economy.market_listings ADD CONSTRAINT market_listing_companion
    CHECK ((kind = 'companion') = (companion_id IS NOT NULL) AND (kind = 'item' OR listed = 1));
-- At most one open listing per companion.
CREATE UNIQUE INDEX market_open_companion ON economy.market_listings (companion_id) WHERE state = 'open' AND kind = 'companion';

ALTER TABLE economy.market_sales ADD COLUMN kind text NOT NULL DEFAULT 'item' CHECK (kind IN ('item', 'companion'));

-- The companions board queues real owners only: escrow (-3) holds listed
-- companions and is nobody's score.
CREATE OR REPLACE FUNCTION economy.board_queue_companion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.owner_id > 0 THEN
        INSERT INTO economy.board_outbox (user_id) VALUES (OLD.owner_id);
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.owner_id <> OLD.owner_id) AND NEW.owner_id > 0 THEN
        INSERT INTO economy.board_outbox (user_id) VALUES (NEW.owner_id);
    END IF;
    RETURN NULL;
END $$;
