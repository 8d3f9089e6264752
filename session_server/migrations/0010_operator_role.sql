-- The operator role: runs the chamber camera (starts and stops the broadcast), nothing else.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('admin', 'secretary', 'chair', 'deputy', 'observer', 'operator'));

