//! SMS transfer layer: SMS-DELIVER and SMS-STATUS-REPORT (3GPP TS 23.040) and the alphabets
//! and data coding scheme (3GPP TS 23.038).
