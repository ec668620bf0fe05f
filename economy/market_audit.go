package economy

// itemPlacesAudit counts item IDs found in more than one place, and
// listings whose escrow differs from what they have left (an open listing
// holds exactly its remaining items, a closed one none).
const itemPlacesAudit = `SELECT
	(SELECT count(*) FROM (SELECT item_id FROM economy.item_places GROUP BY item_id HAVING count(*) > 1) d)
	+ (SELECT count(*) FROM economy.market_listings l
	   WHERE l.kind = 'item' AND l.remaining <> (SELECT count(*) FROM economy.market_escrow e WHERE e.listing_id = l.id))`
