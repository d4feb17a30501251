-- The sample company's billing database (PostgreSQL): billing accounts, invoices and payments for
-- the same users as sample-app.sql (user_id is the app's users.id). Samples/stores-all.json reads it
-- through the "billing" store; .ci/start-postgres.sh loads it into a throwaway cluster.
--
-- Types chosen to exercise the connector: numeric amounts (exact decimals), timestamptz (converted
-- to UTC), date, boolean, bytea (a PDF stub) and secret columns that must never be exported.
-- Re-running the script rebuilds the tables from scratch.
\set ON_ERROR_STOP on
SET client_encoding = 'UTF8';
SET client_min_messages = warning;
BEGIN;

DROP TABLE IF EXISTS payments;
DROP TABLE IF EXISTS invoices;
DROP TABLE IF EXISTS billing_accounts;

CREATE TABLE billing_accounts (
  id          integer PRIMARY KEY,
  user_id     integer,                 -- the app's users.id; NULL for billing-only customers
  email       text NOT NULL,           -- stored trimmed and lower-cased
  legal_name  text NOT NULL,
  vat_id      text,
  created_at  timestamptz NOT NULL,
  iban_hash   text                     -- secret: never exported
);
CREATE TABLE invoices (
  id          integer PRIMARY KEY,
  user_id     integer NOT NULL,
  number      text NOT NULL UNIQUE,
  issued_on   date NOT NULL,
  issued_at   timestamptz NOT NULL,
  total       numeric(14, 2) NOT NULL,
  currency    char(3) NOT NULL,
  paid        boolean NOT NULL,
  pdf         bytea,                   -- the invoice document (a stub)
  internal_note text                   -- secret: never exported
);
CREATE TABLE payments (
  id          integer PRIMARY KEY,
  invoice_id  integer NOT NULL REFERENCES invoices(id),
  paid_at     timestamptz NOT NULL,
  amount      numeric(14, 2) NOT NULL,
  method      text NOT NULL,
  card_token  text                     -- secret: never exported
);
CREATE INDEX invoices_user ON invoices(user_id);
CREATE INDEX payments_invoice ON payments(invoice_id);
CREATE INDEX billing_accounts_email ON billing_accounts(email);
CREATE INDEX billing_accounts_user ON billing_accounts(user_id);

INSERT INTO billing_accounts VALUES
 (1, 1, 'ana.nunez@example.com', 'Ana María Núñez', 'ESX1234567X', '2021-03-04 10:15:00+01', 'SECRET-IBAN-HASH-ANA'),
 (2, 2, 'ana@example.org', 'Anna "Ann" Smith, Jr.', 'GB123456789', '2022-01-10 10:00:00+00', 'SECRET-IBAN-HASH-ANNA'),
 (3, 4, 'li@example.cn', '李小龍', NULL, '2020-12-31 23:59:59+08', NULL),
 -- Billing-only customer (no app account): quotes, apostrophes and non-ASCII in the matched value.
 (4, NULL, 'zoë.o''brien+"vip"@example.ie', 'Zoë O''Brien', 'IE1234567T', '2024-02-29 12:00:00-05:30', 'SECRET-IBAN-HASH-ZOE');

INSERT INTO invoices VALUES
 (1, 1, '2024-0001', '2024-05-31', '2024-05-31 18:00:00+02', 12500.00, 'EUR', true,  '\x255044462d312e340a25e2e3cfd30a', 'SECRET-NOTE: VIP, waive late fees'),
 (2, 1, '2024-0002', '2024-06-30', '2024-06-30 09:30:00.25+02', 1234.50, 'EUR', true, '\x255044462d312e340a', NULL),
 (3, 2, '2024-0003', '2024-06-30', '2024-06-30 12:00:00+01', 250.00, 'GBP', true, NULL, 'SECRET-NOTE: disputed once'),
 (4, 4, '2025-0001', '2025-01-31', '2025-01-31 08:00:00+08', 0.01, 'CNY', false, '\x00ff00', NULL),
 (5, 1, '2024-0005', '2024-09-30', '2024-09-30 23:30:00-04', 99.99, 'EUR', false, NULL, NULL);

INSERT INTO payments VALUES
 (1, 1, '2024-06-10 10:00:00+00', 12500.00, 'bank-transfer', NULL),
 (2, 2, '2024-07-01 11:00:00+02', 1000.00, 'card', 'tok_SECRET_CARD_1'),
 (3, 2, '2024-07-20 09:00:00+00', 234.50, 'card', 'tok_SECRET_CARD_2'),
 (4, 3, '2024-07-01 09:00:00+01', 250.00, 'card', 'tok_SECRET_CARD_3');

-- Thirty generated customers (the app's users 10..39), so that exports are picked out of a crowd.
INSERT INTO invoices
  SELECT 100 + i, i, '2023-' || lpad(i::text, 4, '0'), date '2023-02-01' + (i % 28),
         timestamptz '2023-02-01 12:00:00+00' + make_interval(days => i % 28),
         (i * 10) + (i / 100.0), 'EUR', i % 2 = 0, NULL, 'SECRET-NOTE-' || i
  FROM generate_series(10, 39) AS i;
INSERT INTO payments
  SELECT 100 + i, 100 + i, timestamptz '2023-03-01 12:00:00+00' + make_interval(days => i % 28),
         (i * 10) + (i / 100.0), 'card', 'tok_SECRET_GEN_' || i
  FROM generate_series(10, 39) AS i WHERE i % 2 = 0;

COMMIT;
