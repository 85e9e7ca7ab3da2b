-- Nothing reads messages by contact yet, and on random 64-character hashes this index was most of
-- the cost of storing a status (about 20 of 45 µs per status in npm run bench). Reports that need
-- it can add an index shaped for their query.
DROP INDEX `messages_contact_sent`;