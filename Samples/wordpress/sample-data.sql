-- A few WordPress users, posts, comments and metadata for DataPort's WordPress sample. Load after
-- schema.sql (same session settings: zero dates allowed, as WordPress sets them).
SET SESSION sql_mode = 'ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';
SET NAMES utf8mb4;

INSERT INTO wp_options (option_name, option_value, autoload) VALUES
  ('siteurl', 'https://blog.example-web.example', 'yes'),
  ('blogname', 'Example Web Services Blog', 'yes'),
  ('admin_email', 'marta@example-web.example', 'yes');

-- 2 is the data subject of the sample. 3 is another person whose address differs from hers only
-- by an accent: the tables' utf8mb4_unicode_520_ci collation calls them equal, DataPort does not.
INSERT INTO wp_users (ID, user_login, user_pass, user_nicename, user_email, user_url, user_registered, user_activation_key, user_status, display_name) VALUES
  (1, 'marta', '$wp$2y$10$Qm9ndXNIYXNoRm9yTWFydGEuLi4uLi4uLi4uLi4uLi4uLi4uLi4u', 'marta', 'marta@example-web.example', '', '2019-02-01 08:00:00', '', 0, 'Marta (editor)'),
  (2, 'ana', '$wp$2y$10$QW5hc1Bhc3N3b3JkSGFzaE5ldmVyTGVhdmVzLi4uLi4uLi4uLi4u', 'ana', 'ana.nunez@example.com', 'https://ana.example', '2021-03-04 09:15:27', '1717171717:$P$Bsecretactivationkey', 0, 'Ana Núñez'),
  (3, 'anton', '$wp$2y$10$QW50b25zSGFzaC4uLi4uLi4uLi4uLi4uLi4uLi4uLi4uLi4uLi4u', 'anton', 'ána.nunez@example.com', '', '2023-11-20 17:45:00', '', 0, 'Anton Á.');

INSERT INTO wp_usermeta (umeta_id, user_id, meta_key, meta_value) VALUES
  (1, 1, 'nickname', 'marta'),
  (2, 1, 'wp_capabilities', 'a:1:{s:6:"editor";b:1;}'),
  (3, 2, 'nickname', 'ana'),
  (4, 2, 'first_name', 'Ana'),
  (5, 2, 'last_name', 'Núñez'),
  (6, 2, 'description', 'Gardener in Valencia. Writes about tomatoes 🍅.'),
  (7, 2, 'wp_capabilities', 'a:1:{s:6:"author";b:1;}'),
  (8, 2, 'wp_user_level', '2'),
  (9, 2, 'show_admin_bar_front', 'true'),
  (10, 2, 'session_tokens', 'a:1:{s:64:"9f2c4e0a7b1d3f5e8a6c2b4d0e1f3a5c7e9b2d4f6a8c0e1f3b5d7a9c2e4f6a8b";a:4:{s:10:"expiration";i:1720600000;s:2:"ip";s:11:"203.0.113.7";s:2:"ua";s:7:"Firefox";s:5:"login";i:1720340000;}}'),
  (11, 3, 'nickname', 'anton'),
  (12, 3, 'session_tokens', 'a:0:{}');

-- Post 3 is a draft: WordPress leaves its post_date_gmt at the zero date.
INSERT INTO wp_posts (ID, post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status, comment_status, ping_status, post_password, post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, post_parent, guid, menu_order, post_type, post_mime_type, comment_count) VALUES
  (1, 1, '2024-06-01 10:00:00', '2024-06-01 08:00:00', '<p>Welcome to our blog.</p>', 'Hello world', '', 'publish', 'open', 'open', '', 'hello-world', '', '', '2024-06-01 10:00:00', '2024-06-01 08:00:00', '', 0, 'https://blog.example-web.example/?p=1', 0, 'post', '', 3),
  (2, 2, '2024-07-02 19:30:00', '2024-07-02 17:30:00', '<p>Three tomato varieties that survive a Valencian July.</p>', 'Tomatoes in the heat', 'What grows when it is 38 °C', 'publish', 'open', 'open', '', 'tomatoes-in-the-heat', '', '', '2024-07-03 08:05:10', '2024-07-03 06:05:10', '', 0, 'https://blog.example-web.example/?p=2', 0, 'post', '', 1),
  (3, 2, '2024-07-09 21:00:00', '0000-00-00 00:00:00', '<p>Notes for a post about drip irrigation…</p>', 'Drip irrigation (draft)', '', 'draft', 'open', 'open', '', '', '', '', '2024-07-09 21:00:00', '2024-07-09 19:00:00', '', 0, 'https://blog.example-web.example/?p=3', 0, 'post', '', 0),
  (4, 3, '2024-07-10 12:00:00', '2024-07-10 10:00:00', '<p>Anton''s post.</p>', 'Anton writes', '', 'publish', 'open', 'open', '', 'anton-writes', '', '', '2024-07-10 12:00:00', '2024-07-10 10:00:00', '', 0, 'https://blog.example-web.example/?p=4', 0, 'post', '', 0);

-- Comment 2 was written by Ana before she registered, with her address typed in capitals and a
-- trailing space; comment 4 is Anton's, comment 5 a stranger's.
INSERT INTO wp_comments (comment_ID, comment_post_ID, comment_author, comment_author_email, comment_author_url, comment_author_IP, comment_date, comment_date_gmt, comment_content, comment_karma, comment_approved, comment_agent, comment_type, comment_parent, user_id) VALUES
  (1, 1, 'Ana Núñez', 'ana.nunez@example.com', 'https://ana.example', '203.0.113.7', '2024-07-07 09:05:00', '2024-07-07 07:05:00', 'Congratulations on the new blog!', 0, '1', 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0', 'comment', 0, 2),
  (2, 1, 'Ana', 'Ana.Nunez@Example.COM ', '', '198.51.100.23', '2021-02-27 18:40:00', '2021-02-27 17:40:00', 'Do you also design shop sites?', 0, '1', 'Mozilla/5.0 (Android 11; Mobile; rv:85.0) Gecko/85.0 Firefox/85.0', 'comment', 0, 0),
  (3, 2, 'Marta (editor)', 'marta@example-web.example', '', '192.0.2.10', '2024-07-03 09:00:00', '2024-07-03 07:00:00', 'Great post, Ana.', 0, '1', 'Mozilla/5.0', 'comment', 0, 1),
  (4, 1, 'Anton Á.', 'ána.nunez@example.com', '', '192.0.2.99', '2024-07-10 12:30:00', '2024-07-10 10:30:00', 'Anton''s comment: not Ana''s data.', 0, '1', 'Mozilla/5.0', 'comment', 0, 3),
  (5, 1, 'Pat', 'pat@example.net', '', '192.0.2.55', '2024-07-11 08:00:00', '2024-07-11 06:00:00', 'Spam? No, a stranger.', 0, '0', 'curl/8.0', 'comment', 0, 0);
