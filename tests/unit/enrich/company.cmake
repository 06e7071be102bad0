# Unit tests for enrich/company.c, bot.c, lang.c and enrich.c (the IP cache).
le_unit_test(test_company SOURCES test_company.c LIBS le_enrich)
le_unit_test(test_bot SOURCES test_bot.c LIBS le_enrich)
le_unit_test(test_lang SOURCES test_lang.c LIBS le_enrich)
le_unit_test(test_enrich SOURCES test_enrich.c LIBS le_enrich le_config)
