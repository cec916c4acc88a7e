/* layso pages: shared code */
