-- rds_properties_enriched: one row per RDS property (every status, soft-deleted too),
-- with its own feature flags pivoted from property_features and its sfdc_id normalised:
-- rds_properties_normalized (what the queues read) plus the RDS columns for people and
-- reports. Reads the RDS schema, as rds_properties_normalized does: adapt both to another
-- schema.
--
-- Columns
--   rds_property_id          properties.id
--   snappt_property_id_c     the same id as text: what a Salesforce record's external id holds
--   property_name, short_id, address, city, state, zip   from properties
--   company_id               properties.company_id (text, R9); company_name from companies
--   status                   properties.status as stored
--   property_status          'DELETED' when soft-deleted (deleted_at set), else status; so
--                            the plan's `property_status = 'ACTIVE'` is exactly rule R1
--   is_active                R1: status = 'ACTIVE' and deleted_at IS NULL
--   sfdc_id_raw              properties.sfdc_id as stored
--   sfdc_id                  R2 (see rds_properties_normalized); mirrors
--                            propsync.sfid.normalize
--   has_valid_sfdc_id        1 when sfdc_id is not NULL, else 0
--   has_invalid_sfdc_id      TRUE when sfdc_id_raw holds something (after trim) that R2 rejects
--   idv_enabled, bank_linking_enabled, payroll_enabled, income_insights_enabled
--                            the property's OWN flags (missing or NULL -> FALSE)
--   has_any_features_enabled OR of the four own flags
--   created_at, updated_at, deleted_at   from properties
CREATE OR REPLACE VIEW rds_properties_enriched AS
SELECT
  n.rds_property_id,
  n.snappt_property_id_c,
  n.property_name,
  n.short_id,
  n.company_id,
  c.name AS company_name,
  p.address,
  n.city,
  n.state,
  p.zip,
  p.status,
  n.property_status,
  n.is_active,
  p.sfdc_id AS sfdc_id_raw,
  n.sfdc_id,
  n.has_valid_sfdc_id,
  n.has_invalid_sfdc_id,
  n.idv_enabled,
  n.bank_linking_enabled,
  n.payroll_enabled,
  n.income_insights_enabled,
  n.has_any_features_enabled,
  n.created_at,
  p.updated_at,
  p.deleted_at
FROM rds_properties_normalized AS n
INNER JOIN properties AS p ON p.id = n.rds_property_id
LEFT JOIN companies AS c ON c.id = n.company_id
