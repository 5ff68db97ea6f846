-- +goose Up
-- Products named by CVX code. Intervals are the authorised ones of 2021; 213
-- stands for a feed that names no product.
INSERT INTO vaccines (code, name, doses, min_interval_days, max_interval_days, min_age) VALUES
    ('207', 'Moderna COVID-19 Vaccine', 2, 28, 42, 18),
    ('208', 'Pfizer-BioNTech COVID-19 Vaccine', 2, 21, 42, 16),
    ('212', 'Janssen COVID-19 Vaccine', 1, 0, 0, 18),
    ('213', 'COVID-19 vaccine, unspecified product', 1, 0, 0, 0);

-- +goose Down
DELETE FROM vaccines WHERE code IN ('207', '208', '212', '213');
