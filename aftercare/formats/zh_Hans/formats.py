# Django's own zh-Hans MONTH_DAY_FORMAT pads the month ("09月5日"); schools write 9月5日.
MONTH_DAY_FORMAT = "n月j日"
