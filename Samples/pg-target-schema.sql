-- The sample application's schema (sample-app.sql) in PostgreSQL types, without rows: an empty
-- import target for bundles exported with Samples/stores.json (same tables and columns, so the
-- same datasets map onto it with "type": "postgresql"). Typed columns exercise the import's
-- parameter binding: timestamptz, date, numeric (exact decimals), boolean.
--
-- Load it into an empty database or schema:  psql "$URL" -v ON_ERROR_STOP=1 -f pg-target-schema.sql
-- Secret columns (password_hash, card_token, token) are nullable: an import never writes them.

CREATE TABLE users (
  id             integer PRIMARY KEY,
  email          text NOT NULL,
  full_name      text NOT NULL,
  password_hash  text,
  registered_at  timestamptz NOT NULL,
  status         text NOT NULL,
  birth_date     date
);
CREATE TABLE contact_details (
  id        integer PRIMARY KEY,
  user_id   integer NOT NULL REFERENCES users(id),
  phone     text, street text, city text, postcode text, country text
);
CREATE TABLE quotation_requests (
  id            integer PRIMARY KEY,
  user_id       integer NOT NULL REFERENCES users(id),
  submitted_at  timestamptz NOT NULL,
  service       text NOT NULL,
  message       text,
  budget        numeric
);
CREATE TABLE newsletter_subscriptions (
  id               integer PRIMARY KEY,
  user_id          integer NOT NULL REFERENCES users(id),
  list             text NOT NULL,
  subscribed_at    timestamptz NOT NULL,
  confirmed        boolean NOT NULL,
  unsubscribed_at  timestamptz
);
CREATE TABLE consents (
  id           integer PRIMARY KEY,
  user_id      integer NOT NULL REFERENCES users(id),
  purpose      text NOT NULL,
  granted      boolean NOT NULL,
  recorded_at  timestamptz NOT NULL
);
CREATE TABLE enquiries (
  id           integer PRIMARY KEY,
  user_id      integer NOT NULL REFERENCES users(id),
  received_at  timestamptz NOT NULL,
  kind         text NOT NULL,
  subject      text,
  body         text
);
CREATE TABLE invoices (
  id         integer PRIMARY KEY,
  user_id    integer NOT NULL REFERENCES users(id),
  number     text NOT NULL,
  issued_on  date NOT NULL,
  total      numeric NOT NULL,
  currency   text NOT NULL
);
CREATE TABLE payments (
  id          integer PRIMARY KEY,
  invoice_id  integer NOT NULL REFERENCES invoices(id),
  paid_at     timestamptz NOT NULL,
  amount      numeric NOT NULL,
  method      text NOT NULL,
  card_token  text
);
CREATE TABLE sessions (
  id          integer PRIMARY KEY,
  user_id     integer NOT NULL REFERENCES users(id),
  token       text,
  created_at  timestamptz NOT NULL
);
CREATE TABLE cookies (
  id          integer PRIMARY KEY,
  user_id     integer REFERENCES users(id),
  cookie_id   text NOT NULL,
  name        text NOT NULL,
  purpose     text NOT NULL,
  set_at      timestamptz NOT NULL,
  expires_at  timestamptz
);
CREATE TABLE visits (
  id          integer PRIMARY KEY,
  user_id     integer REFERENCES users(id),
  cookie_id   text,
  ip          text NOT NULL,
  started_at  timestamptz NOT NULL,
  browser     text, os text, referrer text
);
CREATE TABLE page_views (
  id         integer PRIMARY KEY,
  visit_id   integer NOT NULL REFERENCES visits(id),
  viewed_at  timestamptz NOT NULL,
  path       text NOT NULL
);
CREATE TABLE customer_segments (
  id           integer PRIMARY KEY,
  user_id      integer NOT NULL REFERENCES users(id),
  segment      text NOT NULL,
  score        numeric NOT NULL,
  computed_at  timestamptz NOT NULL
);
CREATE INDEX visits_user ON visits(user_id);
CREATE INDEX page_views_visit ON page_views(visit_id);
CREATE INDEX invoices_user ON invoices(user_id);
CREATE INDEX payments_invoice ON payments(invoice_id);
