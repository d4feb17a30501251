-- The sample company's application database (SQLite): a web service that keeps registration
-- details, quotation requests, newsletter subscriptions, consents and marketing opt-outs,
-- enquiries, invoices and payments, cookies, and visit logs. DataPort builds sample-app.db from
-- this script on first use (stores.json: options.initScript).
PRAGMA foreign_keys = ON;
BEGIN;

CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL,
  full_name TEXT NOT NULL,
  password_hash TEXT,                   -- secret: never exported (NULL for accounts imported from a bundle)
  registered_at TEXT NOT NULL,          -- ISO 8601, UTC
  status TEXT NOT NULL DEFAULT 'active', -- an account imported without one (a WordPress user) is active
  birth_date TEXT
);
CREATE TABLE contact_details (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  phone TEXT, street TEXT, city TEXT, postcode TEXT, country TEXT
);
CREATE TABLE quotation_requests (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  submitted_at TEXT NOT NULL,
  service TEXT NOT NULL,
  message TEXT,
  budget TEXT                           -- exact decimal as text
);
CREATE TABLE newsletter_subscriptions (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  list TEXT NOT NULL,
  subscribed_at TEXT NOT NULL,
  confirmed INTEGER NOT NULL,
  unsubscribed_at TEXT
);
CREATE TABLE consents (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  purpose TEXT NOT NULL,
  granted INTEGER NOT NULL,
  recorded_at TEXT NOT NULL
);
CREATE TABLE enquiries (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  received_at TEXT NOT NULL,
  kind TEXT NOT NULL,                   -- enquiry | complaint
  subject TEXT,
  body TEXT
);
CREATE TABLE invoices (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  number TEXT NOT NULL,
  issued_on TEXT NOT NULL,              -- date
  total TEXT NOT NULL,                  -- exact decimal as text
  currency TEXT NOT NULL
);
CREATE TABLE payments (
  id INTEGER PRIMARY KEY,
  invoice_id INTEGER NOT NULL REFERENCES invoices(id),
  paid_at TEXT NOT NULL,
  amount TEXT NOT NULL,
  method TEXT NOT NULL,
  card_token TEXT                       -- secret: never exported
);
CREATE TABLE sessions (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  token TEXT,                           -- secret: never exported (NULL for sessions imported from a bundle)
  created_at TEXT NOT NULL
);
CREATE TABLE cookies (
  id INTEGER PRIMARY KEY,
  user_id INTEGER REFERENCES users(id),
  cookie_id TEXT NOT NULL,
  name TEXT NOT NULL,
  purpose TEXT NOT NULL,
  set_at TEXT NOT NULL,
  expires_at TEXT
);
CREATE TABLE visits (
  id INTEGER PRIMARY KEY,
  user_id INTEGER REFERENCES users(id),
  cookie_id TEXT,
  ip TEXT NOT NULL,
  started_at TEXT NOT NULL,
  browser TEXT, os TEXT, referrer TEXT
);
CREATE TABLE page_views (
  id INTEGER PRIMARY KEY,
  visit_id INTEGER NOT NULL REFERENCES visits(id),
  viewed_at TEXT NOT NULL,
  path TEXT NOT NULL
);
CREATE TABLE customer_segments (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  segment TEXT NOT NULL,
  score TEXT NOT NULL,                  -- derived by the controller
  computed_at TEXT NOT NULL
);
CREATE INDEX visits_user ON visits(user_id);
CREATE INDEX page_views_visit ON page_views(visit_id);
CREATE INDEX invoices_user ON invoices(user_id);
CREATE INDEX payments_invoice ON payments(invoice_id);

-- Hand-made subjects with the cases that break naive exports.
INSERT INTO users VALUES
 (1, ' Ana.Nunez@Example.com ', 'Ana María Núñez', '$argon2id$v=19$m=65536$c2FsdA$SECRET-HASH-ANA', '2021-03-04 09:15:00', 'active', '1988-02-29'),
 (2, 'ana@example.org', 'Anna "Ann" Smith, Jr.', '$argon2id$v=19$SECRET-HASH-ANNA', '2022-01-10T10:00:00Z', 'active', NULL),
 (3, 'ana.nunez@example.net', 'Ana María Núñez', '$argon2id$v=19$SECRET-HASH-ANA2', '2023-07-01 12:00:00', 'active', '1990-05-05'),
 (4, 'li@example.cn', '李小龍', '$argon2id$SECRET-HASH-LI', '2020-12-31 23:59:59', 'active', NULL),
 (5, 'omar@example.ae', 'عمر الفاروق', '$argon2id$SECRET-HASH-OMAR', '2024-02-29 08:00:00', 'suspended', NULL);
INSERT INTO contact_details VALUES
 (1, 1, '+34 600 000 001', 'Calle de Alcalá, 42, 3º izq.', 'Madrid', '28014', 'ES'),
 (2, 2, NULL, '1 "Quoted" Street', 'London', 'N1 1AA', 'GB'),
 (3, 4, '+86 10 0000 0000', '长安街 1号', '北京', '100000', 'CN'),
 (4, 5, '', 'شارع الشيخ زايد', 'دبي', NULL, 'AE');
INSERT INTO quotation_requests VALUES
 (1, 1, '2024-05-01 10:30:00', 'Website redesign', 'Hello,
we need a quote for "phase 2", including hosting; budget is flexible.', '12500.00'),
 (2, 1, '2024-06-15T14:00:00+02:00', 'Maintenance', '=HYPERLINK("http://evil.example","click")', '0.10'),
 (3, 2, '2024-05-02 11:00:00', 'Logo', NULL, NULL),
 (4, 4, '2025-01-01 00:00:00', '翻译', '请报价', '99999999999999999999.99');
INSERT INTO newsletter_subscriptions VALUES
 (1, 1, 'monthly-news', '2021-03-04 09:20:00', 1, NULL),
 (2, 1, 'product-updates', '2022-08-01 12:00:00', 0, '2023-01-15 16:45:30'),
 (3, 3, 'monthly-news', '2023-07-01 12:05:00', 1, NULL);
INSERT INTO consents VALUES
 (1, 1, 'marketing-email', 1, '2021-03-04 09:20:00'),
 (2, 1, 'marketing-email', 0, '2023-01-15 16:45:30'),
 (3, 1, 'analytics-cookies', 1, '2021-03-04 09:16:00'),
 (4, 2, 'marketing-email', 1, '2022-01-10 10:00:00');
INSERT INTO enquiries VALUES
 (1, 1, '2024-07-07 07:07:07', 'complaint', 'Invoice 2024-0002, wrong amount', 'Dear team,

the amount on invoice 2024-0002 is wrong: it says 1.234,50 € but we agreed 1,234.00.
Regards, Ana	(tab)'),
 (2, 5, '2024-03-01 12:00:00', 'enquiry', 'مرحبا', 'سؤال عن الخدمة');
INSERT INTO invoices VALUES
 (1, 1, '2024-0001', '2024-05-31', '12500.00', 'EUR'),
 (2, 1, '2024-0002', '2024-06-30', '1234.50', 'EUR'),
 (3, 2, '2024-0003', '2024-06-30', '250.00', 'GBP'),
 (4, 4, '2025-0001', '2025-01-31', '0.01', 'CNY');
INSERT INTO payments VALUES
 (1, 1, '2024-06-10 10:00:00', '12500.00', 'bank-transfer', NULL),
 (2, 2, '2024-07-01 09:00:00', '1000.00', 'card', 'tok_SECRET_CARD_1'),
 (3, 2, '2024-07-20 09:00:00', '234.50', 'card', 'tok_SECRET_CARD_2'),
 (4, 3, '2024-07-01 09:00:00', '250.00', 'card', 'tok_SECRET_CARD_3');
INSERT INTO sessions VALUES
 (1, 1, 'sess_SECRET_TOKEN_ANA', '2024-07-07 07:00:00'),
 (2, 2, 'sess_SECRET_TOKEN_ANNA', '2024-07-07 07:00:00');
INSERT INTO cookies VALUES
 (1, 1, 'c-7f3a9e', '_session', 'strictly necessary: keeps you logged in', '2024-07-07 07:00:00', NULL),
 (2, 1, 'c-7f3a9e', '_ga', 'analytics', '2024-07-07 07:00:00', '2026-07-07 07:00:00'),
 (3, 2, 'c-11aa22', '_session', 'strictly necessary: keeps you logged in', '2024-07-07 07:00:00', NULL);
INSERT INTO visits VALUES
 (1, 1, 'c-7f3a9e', '203.0.113.7', '2024-07-07 07:00:00', 'Firefox 127', 'Linux', 'https://search.example/?q=web+design'),
 (2, 1, 'c-7f3a9e', '203.0.113.7', '2024-07-08 08:00:00', 'Firefox 127', 'Linux', NULL),
 (3, 2, 'c-11aa22', '203.0.113.77', '2024-07-07 07:00:00', 'Safari 17', 'macOS', 'https://ads.example/'),
 (4, NULL, 'c-anon01', '198.51.100.1', '2024-07-09 09:00:00', 'Chrome 126', 'Windows', NULL);
INSERT INTO page_views VALUES
 (1, 1, '2024-07-07 07:00:01', '/'),
 (2, 1, '2024-07-07 07:00:30', '/services/web-design?ref=home&x="1"'),
 (3, 1, '2024-07-07 07:02:00', '/quote'),
 (4, 2, '2024-07-08 08:00:01', '/invoices/2024-0002'),
 (5, 3, '2024-07-07 07:00:01', '/'),
 (6, 4, '2024-07-09 09:00:01', '/pricing');
INSERT INTO customer_segments VALUES
 (1, 1, 'high-value', '0.9375', '2024-08-01 00:00:00'),
 (2, 2, 'occasional', '0.2', '2024-08-01 00:00:00');

-- Thirty generated subjects, so that exports are picked out of a crowd.
WITH RECURSIVE n(i) AS (SELECT 10 UNION ALL SELECT i + 1 FROM n WHERE i < 39)
INSERT INTO users SELECT i, 'customer' || i || '@example.com', 'Customer ' || i, '$argon2id$SECRET-' || i,
  '2023-01-' || printf('%02d', i - 9) || ' 10:00:00', 'active', NULL FROM n;
WITH RECURSIVE n(i) AS (SELECT 10 UNION ALL SELECT i + 1 FROM n WHERE i < 39)
INSERT INTO invoices (user_id, number, issued_on, total, currency)
  SELECT i, '2023-' || printf('%04d', i), '2023-02-' || printf('%02d', (i % 28) + 1), (i * 10) || '.' || printf('%02d', i), 'EUR' FROM n;
WITH RECURSIVE n(i) AS (SELECT 10 UNION ALL SELECT i + 1 FROM n WHERE i < 39)
INSERT INTO visits (user_id, cookie_id, ip, started_at, browser, os, referrer)
  SELECT i, 'c-gen' || i, '192.0.2.' || i, '2024-01-01 12:00:00', 'Firefox', 'Linux', NULL FROM n;
COMMIT;
