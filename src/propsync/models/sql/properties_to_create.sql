-- properties_to_create: the Sync A queue (rule R5). ACTIVE properties (R1) with no
-- non-deleted product_property__c whose snappt_property_id__c is the RDS id. A record in
-- the recycle bin does not count: its property is queued again. Each row carries the R4
-- expected values, so the record is created right and nothing flips on the next Sync B.
-- Sync A writes one upsert per row keyed on snappt_property_id__c (never a second record).
--
-- Columns (what Sync A writes -> Salesforce field)
--   rds_property_id            the RDS id (BIGINT)
--   snappt_property_id_c       -> snappt_property_id__c, the external id (RDS id as text)
--   property_name              -> Name
--   short_id                   -> Short_ID__c
--   company_id                 -> Company_ID__c (RDS company id as text)
--   city, state                -> City__c, State__c
--   idv_enabled                -> IDV_Enabled__c            (R4 expected)
--   bank_linking_enabled       -> Bank_Linking_Enabled__c   (R4 expected)
--   payroll_enabled            -> Payroll_Enabled__c        (R4 expected)
--   income_insights_enabled    -> Income_Insights_Enabled__c (R4 expected)
--   active_property_count      -> Active_Property_Count__c  (R4 expected)
--   is_multi_property          -> Is_Multi_Property__c      (R4 expected)
--   rds_created_at             -> RDS_Created_At__c (created_at to the millisecond)
-- Columns for people and pilots (never written)
--   has_any_features_enabled   OR of the four expected flags (the plan's P1 marker)
--   sfdc_id, has_valid_sfdc_id the normalised sfdc_id (R2) and 1/0
--   expected_basis             'GROUP' or 'OWN' (see property_expected_values)
--   created_at                 properties.created_at (the plan's pilot SQL filters on it)
--   has_deleted_record         a record for this id sits in the recycle bin
CREATE OR REPLACE VIEW properties_to_create AS
SELECT
  pe.rds_property_id,
  pe.snappt_property_id_c,
  pe.property_name,
  pe.short_id,
  pe.company_id,
  pe.city,
  pe.state,
  pe.idv_enabled,
  pe.bank_linking_enabled,
  pe.payroll_enabled,
  pe.income_insights_enabled,
  pe.active_property_count,
  pe.is_multi_property,
  pe.rds_created_at,
  pe.has_any_features_enabled,
  pe.sfdc_id,
  pe.has_valid_sfdc_id,
  pe.expected_basis,
  pe.created_at,
  dp.snappt_property_id_c IS NOT NULL AS has_deleted_record
FROM property_expected_values AS pe
-- A join, not EXISTS in the select list: Spark allows EXISTS only in filters.
LEFT JOIN (
  SELECT DISTINCT snappt_property_id_c
  FROM salesforce_product_property
  WHERE is_deleted = TRUE
) AS dp ON dp.snappt_property_id_c = pe.snappt_property_id_c
WHERE pe.is_active
  AND NOT EXISTS (
    -- Matched on the number (a faster hash key), then on the exact text (R5).
    SELECT 1
    FROM salesforce_product_property AS sp
    WHERE TRY_CAST(sp.snappt_property_id_c AS BIGINT) = pe.rds_property_id
      AND sp.snappt_property_id_c = pe.snappt_property_id_c
      AND COALESCE(sp.is_deleted, FALSE) = FALSE
  )
