//! Movement history of plate hits (issue 19 item 4, LAW.md section 7): every sighting of a
//! hit-list plate from any source, kept until its hit-list entry expires; every query signed
//! in, with a reason, and an audit record.
