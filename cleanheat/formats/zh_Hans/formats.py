# Django's zh_Hans formats print 212549 with no grouping; report tables here group by
# thousands with a comma (212,549), as the plan's own statistics tables do.
from django.conf.locale.zh_Hans.formats import *  # noqa: F401,F403 (extend Django's locale)

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
