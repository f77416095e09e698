"""CRM data: accounts, deals and their stage history, activities, and their imports."""
