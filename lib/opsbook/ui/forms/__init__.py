"""The pages voila serves, one module per page: a playbook's run form, 数据导入, 运行记录."""
